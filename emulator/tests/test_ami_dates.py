"""AMI creation dates (the ami_dates extension): Amazon's bundled AMIs carry the build date in
their name, not the moment the emulator started."""

from __future__ import annotations

import datetime as dt

from kirikae_emulator.ami_dates import name_date
from kirikae_emulator.seed import PROD


def test_names_give_their_build_day():
    assert name_date("amzn2-ami-hvm-2.0.20260930.0-x86_64-gp2") == dt.datetime(2026, 9, 30, tzinfo=dt.timezone.utc)
    assert name_date("Windows_Server-2016-English-Full-Base-2017.10.13").date() == dt.date(2017, 10, 13)
    assert name_date("ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-20170721").date() == dt.date(2017, 7, 21)
    assert name_date("Deep Learning AMI Amazon Linux - 3.3_Oct2017") is None
    assert name_date("amzn-ami-hvm-2017.99.1.20171103-x86_64") .date() == dt.date(2017, 11, 3)


def test_describe_images_shows_the_build_day_and_a_new_image_is_new(endpoint, client_factory):
    ec2 = client_factory("ec2", account=PROD)
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    by_name = {i["Name"]: i for i in images}
    old = next(i for n, i in by_name.items() if n.startswith("amzn-ami-hvm-2018.03.0.20231218.0"))
    assert old["CreationDate"].startswith("2023-12-18"), old["CreationDate"]
    undated = [i for n, i in by_name.items() if name_date(n) is None]
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert all(i["CreationDate"][:10] == today for i in undated)

    ami = old["ImageId"]
    instance = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    mine = ec2.create_image(InstanceId=instance["InstanceId"], Name="web-2019.01.01")["ImageId"]
    made = ec2.describe_images(ImageIds=[mine])["Images"][0]
    assert made["CreationDate"][:10] == today
