"""Read models for the pages and commands: lists, cards, dialogs' options, the review and the check."""
