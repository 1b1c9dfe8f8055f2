"""Account statements (estados de cuenta) issued by the ERP."""
from persistent import Persistent

from .ownership import AccountDocument


class Statement(AccountDocument, Persistent):
    """A statement such as 171001 for account 005300, issued at a UTC time.

    ``pdf`` holds the ERP's PDF as a ZODB blob when it sent one; otherwise
    the portal renders the statement itself.
    """

    __name__ = None
    __parent__ = None
    pdf = None
    period_start = None
    period_end = None

    def __init__(self, statement_id, account, issued, period_start=None, period_end=None):
        self.statement_id = str(statement_id)
        self.account = account
        self.issued = issued
        self.period_start = period_start
        self.period_end = period_end

    @property
    def accounts(self):
        """The ERP accounts this statement belongs to: its own."""
        return (self.account,)

    @property
    def title(self):
        return f'Estado de cuenta {self.statement_id}'
