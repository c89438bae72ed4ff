"""Intake: where needs come in. A submission over the API or a file import lands in the needs pool
(``pools``), is classified (``dispatch``) and starts its workflow (``workflow``)."""
