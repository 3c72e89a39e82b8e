"""The Discord adapter: customers link licences, open and follow tickets in private threads."""

from adapters.discord.client import SupportClient, build_discord_client
from adapters.discord.invite import invite_url
from adapters.discord.port import DiscordCustomerPort

__all__ = ["DiscordCustomerPort", "SupportClient", "build_discord_client", "invite_url"]
