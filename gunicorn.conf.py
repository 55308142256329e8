"""Production gunicorn settings: `gunicorn -c gunicorn.conf.py "outreach:create_app()"`.

They live in outreach/gunicorn_conf.py so an installed release has them too
(`gunicorn -c python:outreach.gunicorn_conf`).
"""

from outreach.gunicorn_conf import *  # noqa: F403
