"""Blueprints registered by the factory, one per actor (or area of an actor's work)."""
_BLUEPRINTS = [
    "app.auth.routes:bp",
    "app.candidate.routes:bp",
    "app.author.routes:bp",
    "app.committee.routes:bp",
    "app.committee.review:bp",
    "app.committee.sessions:bp",
    "app.committee.register:bp",
    "app.head.routes:bp",
    "app.admin.routes:bp",
    # helpers append above this line
]


def register_all(app) -> None:
    from importlib import import_module
    for entry in _BLUEPRINTS:
        module, name = entry.split(":")
        app.register_blueprint(getattr(import_module(module), name))
