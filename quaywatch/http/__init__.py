"""HTTP support shared by every blueprint: the caller, bodies, queries, problems, paging, OpenAPI."""
