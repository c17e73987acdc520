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

/// The page of `item` in a regional console that addresses it by fragment: (console path,
/// fragment), the id (or ARN) already percent-encoded.
fn regional_page(item: &Found) -> Option<(&'static str, String)> {
    let i = encode(&item.id);
    let arn = encode(&item.arn);
    let page = match item.kind.as_str() {
        "ec2:instance" => ("ec2", format!("InstanceDetails:instanceId={i}")),
        "ec2:volume" => ("ec2", format!("VolumeDetails:volumeId={i}")),
        "ec2:snapshot" => ("ec2", format!("SnapshotDetails:snapshotId={i}")),
        "ec2:image" => ("ec2", format!("ImageDetails:imageId={i}")),
        "ec2:elastic-ip" => ("ec2", format!("ElasticIpDetails:AllocationId={i}")),
        "ec2:network-interface" => ("ec2", format!("NetworkInterface:networkInterfaceId={i}")),
        "ec2:security-group" => ("ec2", format!("SecurityGroup:groupId={i}")),
        "ec2:key-pair" => ("ec2", format!("KeyPairs:search={i}")),
        "ec2:launch-template" => ("ec2", format!("LaunchTemplateDetails:launchTemplateId={i}")),
        "elbv2:load-balancer" => ("ec2", format!("LoadBalancer:loadBalancerArn={arn}")),
        "elbv2:target-group" => ("ec2", format!("TargetGroup:targetGroupArn={arn}")),
        "autoscaling:group" => ("ec2", format!("AutoScalingGroupDetails:id={i}")),
        "ec2:vpc" => ("vpcconsole", format!("VpcDetails:VpcId={i}")),
        "ec2:subnet" => ("vpcconsole", format!("SubnetDetails:subnetId={i}")),
        "ec2:route-table" => ("vpcconsole", format!("RouteTableDetails:RouteTableId={i}")),
        "ec2:internet-gateway" => (
            "vpcconsole",
            format!("InternetGatewayDetails:InternetGatewayId={i}"),
        ),
        "ec2:nat-gateway" => ("vpcconsole", format!("NatGatewayDetails:natGatewayId={i}")),
        "rds:db-instance" => ("rds", format!("database:id={i};is-cluster=false")),
        "rds:cluster" => ("rds", format!("database:id={i};is-cluster=true")),
        "rds:db-snapshot" => ("rds", format!("db-snapshot:id={i}")),
        "rds:cluster-snapshot" => ("rds", format!("db-cluster-snapshot:id={i}")),
        "rds:parameter-group" => (
            "rds",
            format!("parameter-groups-detail:ids={i};type=DbParameterGroup;editing=false"),
        ),
        "rds:cluster-parameter-group" => (
            "rds",
            format!("parameter-groups-detail:ids={i};type=DbClusterParameterGroup;editing=false"),
        ),
        "rds:subnet-group" => ("rds", format!("db-subnet-group:id={i}")),
        "dynamodb:table" => ("dynamodbv2", format!("table?name={i}")),
        "lambda:function" => ("lambda", format!("/functions/{i}")),
        // The logs console encodes the group name twice ('/' is `$252F`).
        "logs:log-group" => (
            "cloudwatch",
            format!("logsV2:log-groups/log-group/{}", i.replace('%', "$25")),
        ),
        "cloudwatch:alarm" => ("cloudwatch", format!("alarmsV2:alarm/{i}")),
        "kms:key" => ("kms", format!("/kms/keys/{i}")),
        "elasticache:cluster" => {
            let engine = item
                .properties
                .get("engine")
                .map_or("redis", String::as_str);
            ("elasticache", format!("/{}/{i}", encode(engine)))
        }
        _ => return None,
    };
    Some(page)
}

/// The console page of `item` (not yet through the switch role: see [`through_switch_role`]).
pub fn console_url(item: &Found, account_id: &str) -> ConsoleLink {
    let r = item.region.as_str();
    if let Some((path, fragment)) = regional_page(item) {
        return ConsoleLink {
            url: regional(path, r, &fragment),
            deep: true,
        };
    }
    let i = encode(&item.id);
    let console = format!("https://{r}.console.aws.amazon.com");
    let url = match item.kind.as_str() {
        "s3:bucket" => format!("https://s3.console.aws.amazon.com/s3/buckets/{i}?region={r}"),
        "sqs:queue" => format!("{console}/sqs/v3/home?region={r}#/queues/{i}"),
        "sns:topic" => format!(
            "{console}/sns/v3/home?region={r}#/topic/{}",
            encode(&item.arn)
        ),
        "secretsmanager:secret" => format!(
            "{console}/secretsmanager/secret?name={}&region={r}",
            encode(item.name.as_deref().unwrap_or(arn_name(&item.arn)))
        ),
        "iam:role" => format!("https://console.aws.amazon.com/iam/home#/roles/details/{i}"),
        "ecr:repository" => {
            format!("{console}/ecr/repositories/private/{account_id}/{i}?region={r}")
        }
        // Cloud Control types and anything newer: the service's console home; the plan's tag
        // finds the item there, or in Tag Editor.
        _ => {
            let service = arn_service(&item.arn).unwrap_or("resource-groups");
            return ConsoleLink {
                url: format!("{console}/{}/home?region={r}", encode(service)),
                deep: false,
            };
        }
    };
    ConsoleLink { url, deep: true }
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
