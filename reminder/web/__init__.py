"""The web app: units answer from the link in their notices, the office sees the board.

Server-rendered pages (Flask, the project's Jinja2, no JavaScript), served by waitress beside the
scheduler (``reminder run``) or alone (``reminder serve``). One module per concern:

``keys``       the signing key (environment or a generated owner-only file) and keys derived from it
``links``      a unit's signed, expiring, revocable link
``passwords``  office users' scrypt password hashes
``guard``      office sessions, CSRF tokens, the login throttle, security headers
``files``      upload limits (size, type by name and content) and downloads confined to one folder
``app``        the Flask application factory and the pages
``server``     waitress in a thread, started and stopped cleanly

Nothing heavy is imported here, so ``reminder.config`` can use ``passwords`` cheaply.
"""
