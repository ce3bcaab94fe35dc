"""Notifications to responders: the :class:`Notifier` seam and its apprise adapter (shell)."""

from server.notify.apprise_notifier import AppriseNotifier
from server.notify.base import Delivery, Notifier

__all__ = ["AppriseNotifier", "Delivery", "Notifier"]
