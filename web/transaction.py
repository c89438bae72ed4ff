"""One transaction per request: commit once when the response is a success, roll back otherwise."""
from __future__ import annotations

from flask import Flask, Response, g


def install_unit_of_work(app: Flask) -> None:
    @app.after_request
    def _commit_or_roll_back(response: Response) -> Response:
        session = g.get("db_session")
        if session is not None:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        return response
