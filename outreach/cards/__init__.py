"""Safety cards: Markdown content files rendered to sanitised HTML."""
