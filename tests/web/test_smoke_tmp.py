import pytest
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

async def test_smoke(http, tenant):
    name = tenant[0]
    r = await http.get(f"/{name}/website/secure/signup.aspx?resize=true")
    print(r.status_code, r.headers.get("content-security-policy"))
    print(r.text[:3000])
    r = await http.get(f"/{name}/website/Secure/LoginLogout.aspx")
    print(r.status_code); print(r.text[:1500])
    r = await http.get(f"/webcomponents/stable/spektrix-component-loader.js")
    print(r.status_code, r.headers)
    r = await http.get(f"/{name}/website/scripts/integrate.js")
    print(r.status_code, r.headers)
