"""The people's pages: server-rendered HTML in Simplified Chinese for residents, volunteers,
coordinators, grid Party branches and subdistrict staff. The top room: pages call the services of
every room below and hold no rule of their own (who may do what is ``access.policy``; what a field
accepts is the API's schema, loaded here from the form)."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from . import account, admin, assets, coordinator, dashboard, photos, resident, responsibility, reviewer, volunteer
    from .shell import install

    install(app)
    for module in (assets, account, resident, volunteer, responsibility, coordinator, reviewer, admin, dashboard,
                   photos):
        app.register_blueprint(module.bp)
