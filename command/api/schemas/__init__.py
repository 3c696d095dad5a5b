"""The API's typed request and response bodies, one module per area: the contract that
``/openapi.json`` publishes and that the consoles' client is generated from."""
