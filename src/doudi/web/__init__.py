"""Server-rendered console: templates, navigation and the render helper."""
