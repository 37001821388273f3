"""The LTI 1.3 tool (Advantage) on the upload service: an LMS launches it, it grades, the grade goes back.

    platforms.py  the LMSs this tool trusts (DATA/lti/platforms.json, `grader serve --register-lti`)
    keys.py       the tool's RSA signing keys, its JWKS, and their rotation
    records.py    OIDC states, the latest launch of each student, the outbox of scores owed
    launch.py     an id_token checked: state, nonce, signature, claims
    services.py   the platform's token, AGS and NRPS endpoints, called by the tool
    passback.py   the thread that sends every score owed until the platform takes it
    tool.py       the parts above, opened together on a data folder
    routes.py     the HTTP side: /lti/jwks, /lti/login, /lti/launch, /lti/deep-link and the pages
"""
