"""DynamoDB through pynamodb: one table per aggregate, bound to an endpoint at start-up."""
