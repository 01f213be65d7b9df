"""``orchestrator serve``: the HTTP endpoint for providers and recipients (SPEC "HTTP
endpoint"). One module per concern; each verifies what it receives, translates it into the
application's plain records and hands them to ``application.receiving``, which records
them. Nothing here touches the store directly. docs/serve.md describes the routes."""
