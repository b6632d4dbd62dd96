"""The room's channel: a server-sent event stream per open exam page, held by an
event-driven server beside the app (`cbt channel`, started by `cbt serve`).

Without it every page asks the app for the room's number every few seconds (the pulse):
2,000 pages in a lobby are 666 requests a second, and while answering the pulses were 61%
of the exam's requests (bench/README.md). A gthread worker holds a thread per open request
and cannot hold 2,000 streams; one asyncio process can. The channel watches the rooms that
have pages open (one query for all of them every quarter second) and, when a proctor's
action changes a room's number, pushes each open page of that room its own state, the
start's key included: the signal reaches every page without a request.

A page without the channel (none configured, or the stream lost) pulses as before."""
