"""The database models, one module per part of the domain, all on one metadata. Rules the
data must keep are constraints on the tables, not only Python.

- people: accounts, roles and appointments, staff records (personal data), affiliations,
  failed sign-ins
- exam: bank versions, sessions, registrations and admissions, attempts, answer steps,
  practice answers
- results: written scores, corrections, certifications and the committee's decisions
- register: passes (別表第3), notices to heads, periodic training, heads' invitations
- records: the audit log, the readiness row
- room: proctors and the room's log of their actions
- volunteers: volunteer groups, members, activities and completed training courses
- volunteer_accounts: the invitations that give members their accounts
- training: volunteers' attempts at training modules and their answers
- awareness: public awareness quiz events, their anonymous participants and answers
- certificates: volunteers' completion and activity certificates and their credentials

Everything is importable from here (`from app.models import Attempt`)."""
from scoring.eligibility import EXCLUDED_CATEGORIES, LEVEL_NAMES, PREREQUISITE

from .base import utcnow
from .exam import (SESSION_FORMATS, Admission, AnswerStep, Attempt, BankVersion, ExamSession,
                   PracticeAnswer, Registration, SessionDetail, latest_steps)
from .people import (APPOINTED_ROLES, EMPLOYMENT_CATEGORIES, INVITED_ROLES, POSTS, ROLE_NAMES, ROLES, Affiliation,
                     Appointment, LoginFailure, Staff, User, UserRole, parse_session_id, session_id)
from .materials import (MATERIAL_ACTIONS, MATERIAL_KINDS, MATERIAL_STATES, Material, MaterialEvent,
                        MaterialQuestion, MaterialRevision)
from .records import AuditEvent, Readiness
from .register import LEVELS, PASS_SOURCES, Invitation, Notice, PassRecord, TrainingRecord
from .results import (PROCEDURES, Certification, CommitteeDecision, Correction, DecisionMember,
                      WrittenScore)
from .room import ROOM_ACTIONS, Proctor, RoomEvent
from .certificates import CERTIFICATE_KINDS, Certificate
from .volunteers import (ACTIVITY_KINDS, GROUP_KINDS, Activity, ActivityMember, CourseCompletion,
                         Member, VolunteerGroup)
from .volunteer_accounts import VolunteerInvitation
from .volunteer_records import COMMENDATION_KINDS, Commendation, VolunteerRequest
from .training import TrainingAnswer, TrainingAttempt
from .awareness import EVENT_STATUSES, AwarenessAnswer, AwarenessEvent, AwarenessParticipant

__all__ = [
    "EXCLUDED_CATEGORIES", "LEVEL_NAMES", "PREREQUISITE", "utcnow",
    "SESSION_FORMATS", "Admission", "AnswerStep", "Attempt", "BankVersion", "ExamSession",
    "PracticeAnswer", "Registration", "SessionDetail", "latest_steps",
    "APPOINTED_ROLES", "EMPLOYMENT_CATEGORIES", "INVITED_ROLES", "POSTS", "ROLE_NAMES", "ROLES", "Affiliation", "Appointment",
    "LoginFailure", "Staff", "User", "UserRole", "parse_session_id", "session_id",
    "AuditEvent", "Readiness",
    "LEVELS", "PASS_SOURCES", "Invitation", "Notice", "PassRecord", "TrainingRecord",
    "PROCEDURES", "Certification", "CommitteeDecision", "Correction", "DecisionMember", "WrittenScore",
    "ROOM_ACTIONS", "Proctor", "RoomEvent",
    "ACTIVITY_KINDS", "GROUP_KINDS", "Activity", "ActivityMember", "CourseCompletion", "Member",
    "VolunteerGroup",
    "VolunteerInvitation",
    "COMMENDATION_KINDS", "Commendation", "VolunteerRequest",
    "TrainingAnswer", "TrainingAttempt",
    "EVENT_STATUSES", "AwarenessAnswer", "AwarenessEvent", "AwarenessParticipant",
    "MATERIAL_ACTIONS", "MATERIAL_KINDS", "MATERIAL_STATES", "Material", "MaterialEvent",
    "MaterialQuestion", "MaterialRevision",
    "CERTIFICATE_KINDS", "Certificate",
]
