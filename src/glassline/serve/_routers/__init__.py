"""The service's routers, one per concern: predict, models, oversight, tokens, health."""
