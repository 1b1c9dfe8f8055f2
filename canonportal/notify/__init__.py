"""The portal's own mails: due-date reminders and monthly statements (``canonportal-notify``).

``selection`` decides what is due and to whom, ``compose`` writes each mail in its
recipient's language, ``unsubscribe`` makes and reads the one-click links, ``jobs`` are the
daily jobs (select, compose, deliver, record, one customer per transaction) and ``run`` the
choreography around them (the lease, the summary). The script and the views stay thin.
"""
