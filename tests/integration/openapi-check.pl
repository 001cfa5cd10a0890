#!/usr/bin/perl
# openapi-check.pl: the OpenAPI side of tests/integration/openapi.sh. With
# JSON::Validator (Debian's libjson-validator-perl, which validates against
# the OpenAPI 3.0 schema of Debian's openapi-specification, offline) it
# checks that the document pansift serves is a valid OpenAPI 3.0 document,
# that every example in it (request filters, response bodies) satisfies the
# schema next to it, and that real answers of the server satisfy the schema
# of their operation and status. It only reads files; the shell script
# fetches them.
#   openapi-check.pl DOC.json [CASES]
# CASES has one line per answer: "METHOD PATH STATUS BODY-FILE", PATH as
# written in the document's paths ("/Datasets/{pid}"). Prints each problem
# and exits 1 if there is one.
# SPDX-License-Identifier: GPL-2.0-or-later
use strict;
use warnings;
use JSON::Validator::Schema::OpenAPIv3;
use Mojo::File qw(path);
use Mojo::JSON qw(decode_json);

my ($doc_file, $cases_file) = @ARGV;
die "usage: openapi-check.pl DOC.json [CASES]\n" unless $doc_file;
my $raw = decode_json(path($doc_file)->slurp);
my $schema = JSON::Validator::Schema::OpenAPIv3->new($raw);
my $problems = 0;

sub problem {
    print "$_[0]\n";
    $problems++;
}

problem("document: $_") for @{$schema->errors};
exit 1 if $problems;

# Every media type object with examples: each example value must satisfy
# the schema beside it. They sit in parameters' and responses' content.
sub check_content {
    my ($where, $content) = @_;
    for my $type (sort keys %{$content || {}}) {
        my $media = $content->{$type};
        next unless $media->{schema};
        my %examples = %{$media->{examples} || {}};
        $examples{example} = {value => $media->{example}} if exists $media->{example};
        for my $name (sort keys %examples) {
            my $value = $examples{$name}{value};
            problem("$where example '$name': $_")
                for $schema->validate($value, $media->{schema});
        }
    }
}

my $data = $schema->data;
for my $p (sort keys %{$data->{paths}}) {
    my $item = $data->{paths}{$p};
    for my $method (grep { $_ ne 'parameters' && $_ ne 'servers' } sort keys %$item) {
        my $op = $item->{$method};
        for my $param (@{$item->{parameters} || []}, @{$op->{parameters} || []}) {
            check_content("$method $p parameter $param->{name}", $param->{content});
        }
        for my $status (sort keys %{$op->{responses}}) {
            check_content("$method $p $status", $op->{responses}{$status}{content});
        }
    }
}
for my $name (sort keys %{$data->{components}{responses} || {}}) {
    check_content("components.responses.$name", $data->{components}{responses}{$name}{content});
}

# Real answers.
if ($cases_file) {
    for my $line (split /\n/, path($cases_file)->slurp) {
        next unless $line =~ /\S/;
        my ($method, $p, $status, $file) = split ' ', $line;
        my $body = decode_json(path($file)->slurp);
        my @errors = $schema->validate_response(
            [lc $method, $p, $status],
            {body => sub { return {exists => 1, value => $body, accept => 'application/json'} }});
        problem("answer to $method $p ($status, $file): $_") for @errors;
    }
}
exit($problems ? 1 : 0);
