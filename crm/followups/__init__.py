"""Follow-up tasks (跟进任务), their reminders, and the notifications behind the bell."""
