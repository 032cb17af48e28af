"""The analytics query (the page's form and GET /api/analytics) and the figures' JSON shape."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..core.shapes import Shape
from ..core.validation import Strict, text

Day = text(required=False, max_length=10, pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}",
           pattern_problem="must be a date: YYYY-MM-DD")
AgentName = text(required=False, max_length=320)


class AnalyticsQuery(Strict):
    what: ClassVar[str] = "query"
    location: ClassVar[str] = "query"

    period: Literal["today", "7d", "30d", "custom"] = Field(
        "7d", description="today, the last 7 or 30 days (today included), or custom (from and to). Days are UTC.")
    start: Day = Field(None, alias="from", description="period=custom: the first day, YYYY-MM-DD (UTC).")
    end: Day = Field(None, alias="to", description="period=custom: the last day, YYYY-MM-DD (UTC), at most 366 days "
                                                   "after from.")
    agent: AgentName = Field(None, description="Only this agent's figures: an agent's email, `ai`, or "
                                               "`token:<name>`.")


class Timing(Shape):
    """Durations in seconds: how many, the median and the 90th percentile (nearest rank); null when none."""

    count: int = Field(ge=0)
    median: float | None
    p90: float | None


class PeriodInfo(Shape):
    name: str
    start: str = Field(alias="from", description="The first day, YYYY-MM-DD.")
    end: str = Field(alias="to", description="The last day, YYYY-MM-DD (included).")
    days: int
    timezone: str = Field(description="The time zone of the days and hours: UTC (there is no setting yet).")
    agent: str | None


class Totals(Shape):
    messages_in: int = Field(alias="messagesIn", description="Messages received from customers.")
    messages_out: int = Field(alias="messagesOut", description="Messages sent (by agents, API tokens, the AI, or "
                                                               "from outside this app).")
    ai_messages_out: int = Field(alias="aiMessagesOut", description="Of those, sent by the AI.")
    new_conversations: int = Field(alias="newConversations", description="Conversations whose first message came.")
    resolved: int = Field(description="Conversations resolved.")
    answered: int = Field(description="Customer waits that got their first reply.")
    ai_answered: int = Field(alias="aiAnswered", description="Of those, first answered by the AI.")
    first_response: Timing = Field(alias="firstResponse", description="From the customer's first unanswered "
                                   "message to a person's first reply (AI replies are counted separately).")
    ai_first_response: Timing = Field(alias="aiFirstResponse", description="The same, to the AI's first reply.")
    resolution: Timing = Field(description="From the customer's first message of the cycle to resolved.")
    ai_share: float | None = Field(alias="aiShare", description="aiAnswered / answered (0–1).")
    handoffs: int = Field(description="Conversations the AI handed to a person.")
    handoff_rate: float | None = Field(alias="handoffRate", description="handoffs / aiAnswered.")


class DayFigures(Shape):
    day: str
    messages_in: int = Field(alias="messagesIn")
    messages_out: int = Field(alias="messagesOut")
    ai_messages_out: int = Field(alias="aiMessagesOut")
    new_conversations: int = Field(alias="newConversations")
    answered: int
    ai_answered: int = Field(alias="aiAnswered")
    handoffs: int
    resolved: int


class Heatmap(Shape):
    counts: Literal["received", "sent"] = Field(description="received: customers' messages; sent: the agent's.")
    weekdays: list[str]
    cells: list[list[int]] = Field(description="Messages by weekday (Monday first) and hour (0–23), UTC.")


class AgentFigures(Shape):
    agent: str = Field(description="An agent's email, `ai`, or `token:<name>`.")
    messages_out: int = Field(alias="messagesOut")
    first_response: Timing = Field(alias="firstResponse")
    ai_first_response: Timing = Field(alias="aiFirstResponse")
    answered: int
    resolved: int
    resolution: Timing


class Analytics(Shape):
    period: PeriodInfo
    totals: Totals
    daily: list[DayFigures]
    heatmap: Heatmap
    agents: list[AgentFigures]

    @classmethod
    def of(cls, figures: dict[str, Any]) -> Analytics:
        daily = [{"day": d["day"], "messages_in": d["in"], "messages_out": d["out"], "ai_messages_out": d["out_ai"],
                  "new_conversations": d["new"], "answered": d["answered"], "ai_answered": d["ai_answered"],
                  "handoffs": d["handoffs"], "resolved": d["resolved"]} for d in figures["daily"]]
        return cls.model_validate({**figures, "daily": daily})
