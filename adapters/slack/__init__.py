"""The Slack adapter: staff see every ticket as a card and answer in its thread."""

from adapters.slack.app import build_slack_app
from adapters.slack.client import make_client, slack_file_downloader
from adapters.slack.port import SlackStaffPort
from adapters.slack.runner import SlackConnection, SlackParts, build_slack, start_slack
from adapters.slack.staff import StaffDirectory

__all__ = ["SlackConnection", "SlackParts", "SlackStaffPort", "StaffDirectory", "build_slack",
           "build_slack_app", "make_client", "slack_file_downloader", "start_slack"]
