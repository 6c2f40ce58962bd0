"""Tidy the generated project: drop the files of the interface not chosen, then say what next."""

import shutil
from pathlib import Path

INTERFACE = "{{ cookiecutter.interface }}"
PROJECT_SLUG = "{{ cookiecutter.project_slug }}"

# Files that belong to one interface only, relative to the project root.
WSGI_FILES = ["gunicorn.conf.py", f"src/{PROJECT_SLUG}/wsgi.py", "tests/test_wsgi.py"]
ASGI_FILES = [
    f"src/{PROJECT_SLUG}/asgi.py",
    f"src/{PROJECT_SLUG}/asgi_adapter.py",
    f"src/{PROJECT_SLUG}/asgi_server.py",
    "tests/test_asgi.py",
]


def remove(root: Path, relative_paths: list[str]) -> None:
    for relative in relative_paths:
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def remove_wsgi_files(root: Path) -> None:
    remove(root, WSGI_FILES)


def remove_asgi_files(root: Path) -> None:
    remove(root, ASGI_FILES)


def next_steps(slug: str) -> str:
    return "\n".join(
        [
            f"Created ./{slug}. Next steps:",
            f"  cd {slug}",
            "  make install test     # virtual environment in .venv, then the tests",
            "  make dev              # debug server with reload on http://127.0.0.1:5000",
        ]
    )


def main() -> None:
    root = Path.cwd()
    if INTERFACE == "wsgi":
        remove_asgi_files(root)
    else:
        remove_wsgi_files(root)
    print(next_steps(PROJECT_SLUG))


if __name__ == "__main__":
    main()
