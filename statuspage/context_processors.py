from django.conf import settings


def branding(request) -> dict:
    page = settings.STATUSPAGE
    return {"page_name": page["NAME"], "support_url": page["SUPPORT_URL"]}
