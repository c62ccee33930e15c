def test_login_page_is_served(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert 'name="email"' in response.get_data(as_text=True)


def test_editor_signs_in_and_lands_on_vendors(client, editor):
    response = client.login(editor)
    assert response.status_code == 302
    assert client.get("/vendors/").status_code == 200
