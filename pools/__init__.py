"""The registry of the three pools and the grid map: grids and Party grids, government resources,
volunteers and organisations, needs; their schemas, value fields and file import; fuzzy search."""
