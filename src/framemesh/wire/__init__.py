"""What nodes say to each other on the wire: pydantic models and the result bundle.

Both sides of a conversation import from here, so the gateway never imports the
orchestrator (or the other way round) to learn a message's shape.
"""
