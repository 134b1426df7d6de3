"""The GraphQL API: strawberry schema, thin resolvers over the use cases, the ASGI app."""
