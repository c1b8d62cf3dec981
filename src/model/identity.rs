//! Who made a CloudTrail call: `userIdentity` normalised to the human, their role (with its IAM
//! path), permission set, MFA and account (formats.md §1.2). Shared by both event tables.

use serde_json::Value;

use super::normalize::{last_segment, owned};
use super::record::{self, Obj};

/// The normalised "who" of a record.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Identity {
    pub principal: Option<String>,
    pub principal_source: Option<String>,
    pub principal_type: Option<String>,
    pub principal_arn: Option<String>,
    pub role_arn: Option<String>,
    pub role_name: Option<String>,
    pub sso_permission_set: Option<String>,
    pub source_identity: Option<String>,
    pub on_behalf_of: Option<String>,
    pub caller_account: Option<String>,
    pub access_key_id: Option<String>,
    pub mfa: Option<bool>,
}

/// `AWSReservedSSO_<PermissionSet>_<16 hex>` -> `<PermissionSet>`.
pub fn sso_permission_set(role_name: &str) -> Option<String> {
    let rest = role_name.strip_prefix("AWSReservedSSO_")?;
    let (set, hex) = rest.rsplit_once('_')?;
    (!set.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| set.to_owned())
}

/// Normalises `userIdentity` (formats.md §1.2) of a parsed record.
pub fn identity(record: &Value) -> Identity {
    let text = record.to_string();
    identity_of(&Obj::parse_str(&text).unwrap_or_default())
}

/// Normalises `userIdentity` (formats.md §1.2) of a record read in place.
pub(crate) fn identity_of(record: &Obj) -> Identity {
    let ui = record.obj("userIdentity");
    let kind = ui.text("type");
    let kind = kind.as_deref().unwrap_or("");
    let arn = ui.text("arn");
    let arn = arn.as_deref();
    let ctx = ui.obj("sessionContext");
    // Each level is read from its raw text when asked for: read the issuer once.
    let issuer = ctx.obj("sessionIssuer");
    let issuer_arn = issuer.text("arn");
    let source_identity = owned(ctx.text("sourceIdentity"));
    let mut id = Identity {
        principal_type: owned(Some(kind)),
        principal_arn: owned(arn),
        source_identity: source_identity.clone(),
        on_behalf_of: owned(ui.text_at(&["onBehalfOf", "userId"])),
        caller_account: owned(ui.text("accountId")),
        access_key_id: owned(ui.text("accessKeyId")),
        mfa: ctx
            .path(&["attributes", "mfaAuthenticated"])
            .and_then(record::flag),
        ..Identity::default()
    };
    let (principal, source): (Option<String>, &str) = match kind {
        "AssumedRole" | "Role" => {
            // STS ARN: arn:aws:sts::<acct>:assumed-role/<role>/<session>; it has no IAM path,
            // which only the session issuer's IAM ARN carries.
            let mut segs = arn
                .and_then(|a| a.split_once(":assumed-role/"))
                .map(|(_, r)| r.splitn(2, '/'));
            let role = segs.as_mut().and_then(|i| i.next()).map(str::to_owned);
            let session = segs
                .as_mut()
                .and_then(|i| i.next())
                .map(str::to_owned)
                .or_else(|| {
                    ui.text("principalId")
                        .as_deref()
                        .and_then(|p| p.split_once(':'))
                        .map(|(_, n)| n.to_owned())
                });
            let role_name = owned(issuer.text("userName")).or(role);
            id.role_arn = owned(issuer_arn).or_else(|| {
                let acct = id.caller_account.as_deref()?;
                Some(format!(
                    "arn:aws:iam::{acct}:role/{}",
                    role_name.as_deref()?
                ))
            });
            id.sso_permission_set = role_name.as_deref().and_then(sso_permission_set);
            id.role_name = role_name;
            if source_identity.is_some() {
                (source_identity, "source_identity")
            } else if id.sso_permission_set.is_some() {
                (session, "identity_center")
            } else {
                (session, "role_session")
            }
        }
        "IAMUser" => (
            owned(ui.text("userName")).or_else(|| arn.map(|a| last_segment(a).to_owned())),
            "iam_user",
        ),
        "FederatedUser" => {
            id.role_arn = owned(issuer_arn);
            let name = arn
                .and_then(|a| a.split_once(":federated-user/"))
                .map(|(_, n)| n.to_owned());
            (
                name.or_else(|| owned(ui.text("principalId"))),
                "federated_user",
            )
        }
        "IdentityCenterUser" => (
            owned(ui.text("userName")).or_else(|| id.on_behalf_of.clone()),
            "identity_center_user",
        ),
        "Root" => (Some("root".to_owned()), "root"),
        "AWSService" => (owned(ui.text("invokedBy")), "service"),
        "AWSAccount" => (
            owned(ui.text("accountId")).or_else(|| owned(ui.text("principalId"))),
            "account",
        ),
        _ => (
            owned(ui.text("userName"))
                .or_else(|| owned(ui.text("principalId")))
                .or_else(|| owned(arn)),
            "unknown",
        ),
    };
    id.principal = principal;
    id.principal_source = Some(source.to_owned());
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assumed(role_path_arn: &str, sts_arn: &str, extra_ctx: Value) -> Value {
        let mut ctx = json!({
            "sessionIssuer": {"type": "Role", "arn": role_path_arn, "userName": last_segment(role_path_arn)},
            "attributes": {"mfaAuthenticated": "true"}
        });
        if let (Some(c), Some(x)) = (ctx.as_object_mut(), extra_ctx.as_object()) {
            c.extend(x.clone());
        }
        json!({"userIdentity": {"type": "AssumedRole", "arn": sts_arn, "accountId": "111122223333",
               "principalId": "AROAX:sess", "sessionContext": ctx}})
    }

    #[test]
    fn sso_role_takes_the_path_from_the_issuer_and_the_user_from_the_session_name() {
        let r = assumed(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_BreakGlass_0123456789abcdef",
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_BreakGlass_0123456789abcdef/alice@example.com",
            json!({}),
        );
        let id = identity(&r);
        assert_eq!(id.principal.as_deref(), Some("alice@example.com"));
        assert_eq!(id.principal_source.as_deref(), Some("identity_center"));
        assert_eq!(id.sso_permission_set.as_deref(), Some("BreakGlass"));
        assert!(id
            .role_arn
            .unwrap()
            .contains("/aws-reserved/sso.amazonaws.com/eu-west-1/"));
        assert_eq!(id.mfa, Some(true));
    }

    #[test]
    fn source_identity_wins_over_the_session_name() {
        let r = assumed(
            "arn:aws:iam::111122223333:role/ci/deployer",
            "arn:aws:sts::111122223333:assumed-role/deployer/botocore-session-1",
            json!({"sourceIdentity": "bob"}),
        );
        let id = identity(&r);
        assert_eq!(
            (id.principal.as_deref(), id.principal_source.as_deref()),
            (Some("bob"), Some("source_identity"))
        );
        assert_eq!(
            id.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/ci/deployer")
        );
        assert_eq!(id.role_name.as_deref(), Some("deployer"));
    }

    #[test]
    fn role_arn_is_rebuilt_when_the_issuer_is_missing() {
        let r = json!({"userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/jdoe"}});
        let id = identity(&r);
        assert_eq!(id.principal.as_deref(), Some("jdoe"));
        assert_eq!(
            id.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin")
        );
        assert_eq!(id.mfa, None);
    }

    #[test]
    fn other_identity_types() {
        let iam = json!({"userIdentity": {"type": "IAMUser", "userName": "ops-bob", "arn": "arn:aws:iam::1:user/ops-bob"}});
        assert_eq!(identity(&iam).principal.as_deref(), Some("ops-bob"));
        let root = json!({"userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}});
        assert_eq!(identity(&root).principal.as_deref(), Some("root"));
        let fed = json!({"userIdentity": {"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/carol",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:user/broker"}}}});
        let id = identity(&fed);
        assert_eq!(
            (id.principal.as_deref(), id.role_arn.as_deref()),
            (Some("carol"), Some("arn:aws:iam::1:user/broker"))
        );
        let svc = json!({"userIdentity": {"type": "AWSService", "invokedBy": "ecs.amazonaws.com"}});
        assert_eq!(
            identity(&svc).principal.as_deref(),
            Some("ecs.amazonaws.com")
        );
        let icu = json!({"userIdentity": {"type": "IdentityCenterUser", "onBehalfOf": {"userId": "9067-abcd"}}});
        assert_eq!(identity(&icu).principal.as_deref(), Some("9067-abcd"));
        assert_eq!(
            identity(&json!({})).principal_source.as_deref(),
            Some("unknown")
        );
    }
}
