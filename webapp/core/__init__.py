"""Infrastructure every feature uses: settings, the database, errors and the JSON envelope, logs,
security headers, rate limits, health checks, time helpers and the event bus. Imports nothing
from the feature packages above it."""
