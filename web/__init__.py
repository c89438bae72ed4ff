"""HTTP plumbing every blueprint shares: request parsing, base schemas, route access markers, the
error envelope, the transaction per request, the OpenAPI document and the API docs page."""
