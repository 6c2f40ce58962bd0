"""Fill a migrated database with COUNT items, in one transaction, through the project's model.

Usage: python seed_items.py SLUG COUNT  (DATABASE_URL in the environment)
Prints the id range the items got, for the benchmark's random reads.
"""

import json
import os
import sys
from datetime import UTC, datetime
from importlib import import_module

from sqlalchemy import create_engine, func, insert, select

slug, count = sys.argv[1], int(sys.argv[2])
url = import_module(f"{slug}.settings").load_database_settings(os.environ).url
Item = import_module(f"{slug}.database.models").Item
now = datetime.now(UTC)
rows = [
    {"name": f"seed-{n:06d}", "description": "seeded", "created_at": now, "updated_at": now}
    for n in range(count)
]
engine = create_engine(url)  # the sync driver, also for a Quart project's URL
with engine.begin() as connection:
    connection.execute(insert(Item), rows)
    first, last = connection.execute(select(func.min(Item.id), func.max(Item.id))).one()
engine.dispose()
print(json.dumps({"first_id": first, "last_id": last}))
