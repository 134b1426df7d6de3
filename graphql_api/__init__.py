"""The GraphQL API: strawberry schema, thin resolvers over the use cases, the ASGI app."""

# The versions the fast paths were written for: ``projection`` subclasses strawberry's
# execution context and ``variables`` repeats graphql-core's ``Executor.build`` (its names,
# order and statements, one call changed; tests/api/test_versions.py holds the copy to the
# installed graphql-core's and prints the difference when they part). pyproject.toml bounds
# both to these series, and tests/api/test_versions.py fails with a clear message on any other.
WRITTEN_FOR: dict[str, str] = {"strawberry-graphql": "0.341", "graphql-core": "3.3"}
