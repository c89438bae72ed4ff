"""One transaction per request: commit once when the response is a success, roll back otherwise.
Each committed write leaves one log line naming who made it."""
from __future__ import annotations

import logging

from flask import Flask, Response, g, request

log = logging.getLogger(__name__)
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def install_unit_of_work(app: Flask) -> None:
    @app.after_request
    def _commit_or_roll_back(response: Response) -> Response:
        session = g.get("db_session")
        if session is not None:
            if response.status_code < 400:
                session.commit()
                if request.method not in READ_ONLY_METHODS:
                    user = g.get("current_user")  # set by access.auth when the request signed in
                    actor = f"user#{user.id}({user.role})" if user is not None else "anonymous"
                    log.info("%s %s → %s by %s", request.method, request.path, response.status_code, actor)
            else:
                session.rollback()
        return response
