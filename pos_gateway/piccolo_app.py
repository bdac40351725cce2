import os

from piccolo.conf.apps import AppConfig, table_finder

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="pos_gateway",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=table_finder(modules=["pos_gateway.tables"], exclude_imported=True),
    migration_dependencies=[
        "stores.piccolo_app",
        "members.piccolo_app",
        "loyalty.piccolo_app",
        "promotions.piccolo_app",
    ],
    commands=[],
)
