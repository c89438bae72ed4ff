"""Pages: to be filled."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reviewer", __name__)
