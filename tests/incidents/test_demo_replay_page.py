"""The console's demo replay page: the last replay's measured timeline beside the original
outage's, read from the record `manage.py demo replay` keeps in var/."""

import pytest

from incidents.response import reach

RECORD = {
    "speed": 20.0,
    "broke_at": "2026-11-28 01:00:00+00:00",
    "ended_at": "2026-11-28 01:30:00+00:00",
    "incident": "abc",
    "heard": [
        {
            "channel": "push",
            "recipients": "app_users",
            "first_at": "2026-11-28 01:02:40+00:00",
            "minutes_after": 2.7,
            "sent": 1,
            "not_sent": 0,
            "kinds": ["opened"],
        },
        {
            "channel": "x",
            "recipients": "public",
            "first_at": None,
            "minutes_after": None,
            "sent": 0,
            "not_sent": 1,
            "kinds": [],
        },
    ],
    "sandbox": {"fcm/push": 2},
}


@pytest.mark.django_db
def test_replay_page_shows_who_heard_what_beside_the_original_outage(
    client, support_user, django_assert_max_num_queries
):
    reach.save(RECORD)
    client.force_login(support_user)
    with django_assert_max_num_queries(4):  # session, user, permissions (two)
        page = client.get("/manage/demo/replay").content.decode()
    assert "01:02:40" in page and "2.7 min" in page
    assert "App users and followers" in page
    assert "never" in page
    assert "fcm/push 2" in page
    assert "First public word, about 8 hours after impact" in page


@pytest.mark.django_db
def test_replay_page_says_how_to_run_one_when_none_ran(client, support_user):
    client.force_login(support_user)
    page = client.get("/manage/demo/replay").content.decode()
    assert "manage.py demo replay" in page


@pytest.mark.django_db
def test_replay_page_is_for_staff_only(client, outsider):
    assert client.get("/manage/demo/replay").status_code == 302
    client.force_login(outsider)
    assert client.get("/manage/demo/replay").status_code == 403
