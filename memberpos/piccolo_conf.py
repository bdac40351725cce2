"""Piccolo's configuration module (``PICCOLO_CONF=memberpos.piccolo_conf``).

``DB`` is built from the settings; ``APP_REGISTRY`` lists every domain's Piccolo app, so one
``memberpos migrate`` brings any database from empty to head.
"""

from piccolo.conf.apps import AppRegistry

from memberpos.db import build_engine

DB = build_engine()

APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",
        "piccolo_admin.piccolo_app",
        "stores.piccolo_app",
        "members.piccolo_app",
        "loyalty.piccolo_app",
        "promotions.piccolo_app",
        "pos_gateway.piccolo_app",
        "printers.piccolo_app",
    ]
)
