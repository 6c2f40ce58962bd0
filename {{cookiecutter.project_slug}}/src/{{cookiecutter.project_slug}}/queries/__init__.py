"""The database queries, one module per resource: the views call these and nothing else."""
