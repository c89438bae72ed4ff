"""Open311 GeoReport v2: the civic-request interface city tools speak (``/open311/v2``).

City tools list the services (the four services and their subcategories, ``services.py``), post requests
with an API key of their system (``keys.py``; created by an admin, ``flask open311 keys create NAME``),
placed through the building register or the grid boundaries, and read back their status. Every call made
with a key is audited (``models.Open311Call``). JSON and XML (``xml.py``)."""
