"""What the OAuth client scripts (oauth_discovery.py, oauth_flows.py) share:
the official SDK's token storage, empty at the start, and unwrapping the
exception groups its task groups raise. Imported from the scripts' own folder."""

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


class MemoryStorage:
    """The SDK's TokenStorage protocol, empty at the start: no token, no registered client."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (possibly nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]
