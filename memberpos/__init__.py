"""memberpos: the composition root (settings, database engine, Redis, app factory, CLI).

It also holds the small shared kernel every domain uses (``money``, ``errors``, ``db``,
``security``, ``clock``); those modules import nothing of the domains, so no cycle forms.
"""

import os

# Piccolo finds its engine and apps through this module; set before any table is used.
os.environ.setdefault("PICCOLO_CONF", "memberpos.piccolo_conf")

__version__ = "0.1.0"
