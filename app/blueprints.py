"""The features' blueprints, registered by the factory. Each feature package makes its
blueprint in its __init__.py and its route modules attach the routes to it, so the route
modules are imported here before the blueprints are registered."""


def register_all(app) -> None:
    from . import (auth, awareness, banks, certificates, exam, honours, materials, people, register,
                   review, room, sessions, training, volunteers)
    from .auth import routes as _auth  # noqa: F401  (each route module attaches its routes)
    from .awareness import events as _aw_events, public as _aw_public  # noqa: F401
    from .banks import routes as _banks  # noqa: F401
    from .certificates import routes as _certificates  # noqa: F401
    from .exam import lobby as _lobby, practice as _practice, routes as _exam  # noqa: F401
    from .people import (appointment_routes as _appointments, audit_routes as _audit,  # noqa: F401
                         import_routes as _imports, routes as _people)
    from .register import head as _head, routes as _register  # noqa: F401
    from .review import decisions as _decisions, routes as _review, stats as _stats  # noqa: F401
    from .room import routes as _room  # noqa: F401
    from .sessions import routes as _sessions  # noqa: F401
    from .volunteers import groups as _vgroups, invitations as _vinvitations, members as _vmembers  # noqa: F401
    from .volunteers import (activities as _activities, recognition as _recognition,  # noqa: F401
                             requests as _requests)
    from .honours import routes as _honours  # noqa: F401
    from .training import routes as _training  # noqa: F401
    from .materials import quizsource, routes as _materials  # noqa: F401
    quizsource.register()          # a group's approved quizzes, for its awareness events

    for bp in (auth.bp, exam.bp, banks.bp, review.stats_bp, review.bp, sessions.bp,
               register.bp, register.head_bp, people.bp, room.bp, volunteers.bp,
               honours.bp, training.bp, awareness.bp, awareness.public_bp,
               materials.bp, certificates.bp):
        app.register_blueprint(bp)
