"""Who signs in: agents, their sessions and API tokens (MongoEngine documents)."""

from __future__ import annotations

from typing import Any

from mongoengine import BooleanField, DateTimeField, Document, ObjectIdField, StringField

from ..core.clock import as_utc, utcnow

ADMIN = "admin"
AGENT = "agent"
ROLES = (ADMIN, AGENT)  # admins manage agents, settings, templates, canned replies and tokens; agents work chats


class Agent(Document):
    """A person who signs in to the inbox. Only a hash of the password is stored."""

    email = StringField(required=True, max_length=254)  # stored lower-cased
    name = StringField(required=True, max_length=100)
    password_hash = StringField(required=True)
    active = BooleanField(default=True)
    role = StringField(default=AGENT, choices=ROLES)
    created_at = DateTimeField(default=utcnow)
    last_sign_in_at = DateTimeField(null=True)

    # strict=False: agents stored with fields a version dropped still load.
    meta = {"collection": "agents", "strict": False,
            "indexes": [{"fields": ["email"], "unique": True, "name": "email"}]}

    @staticmethod
    def normalize_email(email: str) -> str:
        return email.strip().lower()

    @classmethod
    def by_email(cls, email: str) -> Agent | None:
        return cls.objects(email=cls.normalize_email(email)).first()

    @classmethod
    def by_id(cls, agent_id: Any) -> Agent | None:
        return cls.objects(pk=agent_id).first()

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @classmethod
    def any_admin(cls) -> bool:
        return cls.objects(role=ADMIN, active=True).limit(1).first() is not None

    def set_role(self, role: str) -> None:
        self.role = role
        self._get_collection().update_one({"_id": self.pk}, {"$set": {"role": role}})

    def record_sign_in(self) -> None:
        self.last_sign_in_at = utcnow()
        self._get_collection().update_one({"_id": self.pk}, {"$set": {"last_sign_in_at": self.last_sign_in_at}})

    def set_active(self, active: bool) -> None:
        self.active = active
        self._get_collection().update_one({"_id": self.pk}, {"$set": {"active": active}})

    def set_name(self, name: str) -> None:
        self.name = name
        self._get_collection().update_one({"_id": self.pk}, {"$set": {"name": name}})

    def set_password_hash(self, password_hash: str) -> None:
        self.password_hash = password_hash
        self._get_collection().update_one({"_id": self.pk}, {"$set": {"password_hash": password_hash}})


class AgentSession(Document):
    """A signed-in browser. The cookie holds a random secret; `_id` is its SHA-256, so a stolen
    database does not give sessions away. Signing out deletes the document: the cookie is dead."""

    id = StringField(primary_key=True)
    agent_id = ObjectIdField(required=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(required=True)

    meta = {"collection": "agent_sessions", "indexes": [{"fields": ["agent_id"], "name": "agent"}]}

    @classmethod
    def live(cls, key: str) -> AgentSession | None:
        session = cls.objects(pk=key).first()
        if session is None or as_utc(session.expires_at) <= utcnow():
            return None
        return session

    @classmethod
    def end(cls, key: str) -> None:
        cls._get_collection().delete_one({"_id": key})

    @classmethod
    def keys_of(cls, agent_id: Any) -> list[str]:
        return [doc["_id"] for doc in cls._get_collection().find({"agent_id": agent_id}, {"_id": 1})]

    @classmethod
    def end_all(cls, agent_id: Any) -> int:
        return cls._get_collection().delete_many({"agent_id": agent_id}).deleted_count

    @classmethod
    def forget_expired(cls) -> None:
        cls._get_collection().delete_many({"expires_at": {"$lte": utcnow()}})


class ApiToken(Document):
    """A token for programs (Postman, scripts, the Socket.IO client). `_id` is the SHA-256 of the
    token, which is shown once when it is made and never stored; `prefix` identifies it in lists.
    Names are unique for good, revoked or not, so `token:<name>` on a message names one token."""

    id = StringField(primary_key=True)
    name = StringField(required=True, max_length=64)
    prefix = StringField(required=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    role = StringField(default=AGENT, choices=ROLES)  # what a program with it may do, as for agents

    meta = {"collection": "api_tokens", "strict": False,
            "indexes": [{"fields": ["name"], "unique": True, "name": "name"}]}

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def by_hash(cls, digest: str) -> ApiToken | None:
        return cls.objects(pk=digest).first()

    @classmethod
    def by_name(cls, name: str) -> ApiToken | None:
        return cls.objects(name=name).first()

    def touch(self, every_seconds: float = 60.0) -> None:
        """Record a use, writing at most once every `every_seconds`."""
        now = utcnow()
        last = as_utc(self.last_used_at)
        if last is not None and (now - last).total_seconds() < every_seconds:
            return
        self.last_used_at = now
        self._get_collection().update_one({"_id": self.pk}, {"$set": {"last_used_at": now}})

    def revoke(self) -> None:
        self.revoked_at = utcnow()
        self._get_collection().update_one({"_id": self.pk, "revoked_at": None},
                                          {"$set": {"revoked_at": self.revoked_at}})


class PasswordLink(Document):
    """A one-time link that sets an agent's password: an invitation, or a reset an admin made. `_id` is
    the SHA-256 of the secret in the link (shown once, never stored); using it stamps `used_at`."""

    id = StringField(primary_key=True)
    agent_id = ObjectIdField(required=True)
    purpose = StringField(required=True, choices=("invite", "reset"))
    created_by = StringField(required=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(required=True)
    used_at = DateTimeField(null=True)

    meta = {"collection": "password_links"}

    @classmethod
    def live(cls, key: str) -> PasswordLink | None:
        link = cls.objects(pk=key).first()
        if link is None or link.used_at is not None or as_utc(link.expires_at) <= utcnow():
            return None
        return link

    def use(self) -> bool:
        """Stamp the link used; False when another request used it first."""
        result = self._get_collection().update_one({"_id": self.pk, "used_at": None}, {"$set": {"used_at": utcnow()}})
        return result.modified_count == 1

    @classmethod
    def withdraw(cls, agent_id: Any) -> None:
        """Links not used yet stop working (a newer one replaces them)."""
        cls._get_collection().update_many({"agent_id": agent_id, "used_at": None}, {"$set": {"used_at": utcnow()}})


DOCUMENTS: tuple[type[Document], ...] = (Agent, AgentSession, ApiToken, PasswordLink)
