//! Each plan item's page in the AWS console, for the review page: a deep link for the types the
//! sweep knows, the service's console home for anything else (Cloud Control types), and, when
//! kirikae.toml names the account's role, the whole link wrapped in the account's switch-role
//! link (`redirect_uri`), so one click switches into the plan's account and lands on the item.
//!
//! Built here from the plan alone (no AWS call): the switch-role part comes from
//! [`kirikae_aws::console::switch_role_url`], which `kirikae accounts console` prints too.

use kirikae_aws::console::encode;

use crate::Found;

/// Where a console link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLink {
    pub url: String,
    /// The item's own page; `false`: the service's console home (find the item there).
    pub deep: bool,
}

fn regional(service_path: &str, region: &str, fragment: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/{service_path}/home?region={region}#{fragment}"
    )
}

/// The ARN's service field (`arn:aws:<service>:...`), for the fallback.
fn arn_service(arn: &str) -> Option<&str> {
    arn.split(':').nth(2).filter(|s| !s.is_empty())
}

/// The last segment of an ARN's resource part (`...:function:name`, `.../role/name`).
fn arn_name(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}

/// The console page of `item` (not yet through the switch role: see [`through_switch_role`]).
pub fn console_url(item: &Found, account_id: &str) -> ConsoleLink {
    let r = item.region.as_str();
    let id = item.id.as_str();
    let e = encode;
    let deep = |url: String| ConsoleLink { url, deep: true };
    match item.kind.as_str() {
        "ec2:instance" => deep(regional("ec2", r, &format!("InstanceDetails:instanceId={}", e(id)))),
        "ec2:volume" => deep(regional("ec2", r, &format!("VolumeDetails:volumeId={}", e(id)))),
        "ec2:snapshot" => deep(regional("ec2", r, &format!("SnapshotDetails:snapshotId={}", e(id)))),
        "ec2:image" => deep(regional("ec2", r, &format!("ImageDetails:imageId={}", e(id)))),
        "ec2:elastic-ip" => deep(regional("ec2", r, &format!("ElasticIpDetails:AllocationId={}", e(id)))),
        "ec2:network-interface" => deep(regional("ec2", r, &format!("NetworkInterface:networkInterfaceId={}", e(id)))),
        "ec2:security-group" => deep(regional("ec2", r, &format!("SecurityGroup:groupId={}", e(id)))),
        "ec2:key-pair" => deep(regional("ec2", r, &format!("KeyPairs:search={}", e(id)))),
        "ec2:launch-template" => deep(regional("ec2", r, &format!("LaunchTemplateDetails:launchTemplateId={}", e(id)))),
        "ec2:vpc" => deep(regional("vpcconsole", r, &format!("VpcDetails:VpcId={}", e(id)))),
        "ec2:subnet" => deep(regional("vpcconsole", r, &format!("SubnetDetails:subnetId={}", e(id)))),
        "ec2:route-table" => deep(regional("vpcconsole", r, &format!("RouteTableDetails:RouteTableId={}", e(id)))),
        "ec2:internet-gateway" => deep(regional("vpcconsole", r, &format!("InternetGatewayDetails:InternetGatewayId={}", e(id)))),
        "ec2:nat-gateway" => deep(regional("vpcconsole", r, &format!("NatGatewayDetails:natGatewayId={}", e(id)))),
        "elbv2:load-balancer" => deep(regional("ec2", r, &format!("LoadBalancer:loadBalancerArn={}", e(&item.arn)))),
        "elbv2:target-group" => deep(regional("ec2", r, &format!("TargetGroup:targetGroupArn={}", e(&item.arn)))),
        "autoscaling:group" => deep(regional("ec2", r, &format!("AutoScalingGroupDetails:id={}", e(id)))),
        "s3:bucket" => deep(format!("https://s3.console.aws.amazon.com/s3/buckets/{}?region={r}", e(id))),
        "rds:db-instance" => deep(regional("rds", r, &format!("database:id={};is-cluster=false", e(id)))),
        "rds:cluster" => deep(regional("rds", r, &format!("database:id={};is-cluster=true", e(id)))),
        "rds:db-snapshot" => deep(regional("rds", r, &format!("db-snapshot:id={}", e(id)))),
        "rds:cluster-snapshot" => deep(regional("rds", r, &format!("db-cluster-snapshot:id={}", e(id)))),
        "rds:parameter-group" => deep(regional("rds", r, &format!("parameter-groups-detail:ids={};type=DbParameterGroup;editing=false", e(id)))),
        "rds:cluster-parameter-group" => deep(regional("rds", r, &format!("parameter-groups-detail:ids={};type=DbClusterParameterGroup;editing=false", e(id)))),
        "rds:subnet-group" => deep(regional("rds", r, &format!("db-subnet-group:id={}", e(id)))),
        "dynamodb:table" => deep(regional("dynamodbv2", r, &format!("table?name={}", e(id)))),
        "lambda:function" => deep(regional("lambda", r, &format!("/functions/{}", e(id)))),
        // The logs console encodes the group name twice ('/' is `$252F`).
        "logs:log-group" => deep(regional("cloudwatch", r, &format!("logsV2:log-groups/log-group/{}", e(id).replace('%', "$25")))),
        "cloudwatch:alarm" => deep(regional("cloudwatch", r, &format!("alarmsV2:alarm/{}", e(id)))),
        "sqs:queue" => deep(format!("https://{r}.console.aws.amazon.com/sqs/v3/home?region={r}#/queues/{}", e(id))),
        "sns:topic" => deep(format!("https://{r}.console.aws.amazon.com/sns/v3/home?region={r}#/topic/{}", e(&item.arn))),
        "secretsmanager:secret" => deep(format!("https://{r}.console.aws.amazon.com/secretsmanager/secret?name={}&region={r}", e(item.name.as_deref().unwrap_or(arn_name(&item.arn))))),
        "kms:key" => deep(regional("kms", r, &format!("/kms/keys/{}", e(id)))),
        "iam:role" => deep(format!("https://console.aws.amazon.com/iam/home#/roles/details/{}", e(id))),
        "ecr:repository" => deep(format!("https://{r}.console.aws.amazon.com/ecr/repositories/private/{account_id}/{}?region={r}", e(id))),
        "elasticache:cluster" => deep(regional("elasticache", r, &format!("/{}/{}", e(item.properties.get("engine").map(String::as_str).unwrap_or("redis")), e(id)))),
        // Cloud Control types and anything newer: the service's console home; the plan's tag
        // finds the item there, or in Tag Editor.
        _ => ConsoleLink {
            url: format!(
                "https://{r}.console.aws.amazon.com/{}/home?region={r}",
                e(arn_service(&item.arn).unwrap_or("resource-groups"))
            ),
            deep: false,
        },
    }
}

/// `destination` through the account's switch-role link (`switch_role`: what
/// [`kirikae_aws::console::switch_role_url`] returns): the console switches into the account's
/// role, then opens `destination`.
pub fn through_switch_role(switch_role: &str, destination: &str) -> String {
    format!("{switch_role}&redirect_uri={}", encode(destination))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_get_their_own_page_and_the_rest_the_service_home() {
        let vol = Found::new(
            "ec2:volume",
            "ap-northeast-1",
            "vol-1",
            "arn:aws:ec2:ap-northeast-1:111111111111:volume/vol-1",
        );
        let l = console_url(&vol, "111111111111");
        assert!(l.deep);
        assert_eq!(
            l.url,
            "https://ap-northeast-1.console.aws.amazon.com/ec2/home?region=ap-northeast-1#VolumeDetails:volumeId=vol-1"
        );
        let lg = Found::new(
            "logs:log-group",
            "r1",
            "/aws/lambda/x",
            "arn:aws:logs:r1:1:log-group:/aws/lambda/x",
        );
        assert!(console_url(&lg, "1")
            .url
            .ends_with("log-group/$252Faws$252Flambda$252Fx"));
        let cc = Found::new(
            "cloudcontrol:AWS::Glue::Job",
            "r1",
            "j",
            "arn:aws:glue:r1:1:job/j",
        );
        let l = console_url(&cc, "1");
        assert!(!l.deep);
        assert_eq!(
            l.url,
            "https://r1.console.aws.amazon.com/glue/home?region=r1"
        );
        for t in crate::registry() {
            let f = Found::new(t.name(), "r1", "x", "arn:aws:svc:r1:1:thing/x");
            assert!(
                console_url(&f, "1").deep,
                "{} has no console page",
                t.name()
            );
        }
    }

    #[test]
    fn the_switch_role_link_carries_the_page_as_redirect_uri() {
        let url = through_switch_role(
            "https://signin.aws.amazon.com/switchrole?account=111111111111&roleName=Admin&displayName=prod",
            "https://r1.console.aws.amazon.com/ec2/home?region=r1#VolumeDetails:volumeId=vol-1",
        );
        assert_eq!(
            url,
            "https://signin.aws.amazon.com/switchrole?account=111111111111&roleName=Admin&displayName=prod\
             &redirect_uri=https%3A%2F%2Fr1.console.aws.amazon.com%2Fec2%2Fhome%3Fregion%3Dr1%23VolumeDetails%3AvolumeId%3Dvol-1"
        );
    }
}
