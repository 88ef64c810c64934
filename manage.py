"""Command line: ``python manage.py init-db | seed --users 50 | create-admin NAME | run``."""

from flask.cli import FlaskGroup

from dashboard import create_app

cli = FlaskGroup(create_app=create_app, add_default_commands=False, load_dotenv=False)

if __name__ == "__main__":
    cli()
