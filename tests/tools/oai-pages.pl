#!/usr/bin/env perl
# oai-pages.pl: turn the records of real OAI-PMH ListRecords answers into a
# paged ListRecords chain, as ps-replay exchange recordings (a JSON array on
# stdout). The harvest tests use it to page the DSpace records with
# resumption tokens (tokens with '/', ':' and '+' in them, so that a
# harvester that does not URL-encode them fails), and the benchmark to make
# tens of thousands of realistic oai_dc records out of the corpus's few.
#
#   oai-pages.pl [--per-page N] [--total N] [--live-only] [--path /oai]
#                [--query 'metadataPrefix=oai_dc&from=...'] FILE...
#
# --total N cycles through the records until N were written, giving the
# copies distinct identifiers ("hdl:1765/308" -> "hdl:1765/308.c2") and
# datestamps one second apart. The first page answers
# PATH?verb=ListRecords&QUERY, page k+1 answers the token of page k; the
# last page carries an empty <resumptionToken/> with completeListSize.
# SPDX-License-Identifier: GPL-2.0-or-later
use strict;
use warnings;
use Getopt::Long;
use JSON::PP;

my ($per_page, $total, $live_only, $path, $query) =
    (100, 0, 0, '/oai', 'metadataPrefix=oai_dc');
GetOptions('per-page=i' => \$per_page, 'total=i' => \$total,
           'live-only' => \$live_only, 'path=s' => \$path,
           'query=s' => \$query) or die "usage: see the head of $0\n";
die "oai-pages.pl: no input files\n" unless @ARGV;

my @records;
for my $file (@ARGV) {
    open my $fh, '<:encoding(UTF-8)', $file or die "oai-pages.pl: $file: $!\n";
    local $/;
    my $xml = <$fh>;
    close $fh;
    while ($xml =~ m{(<record>.*?</record>)}gs) {
        my $r = $1;
        next if $live_only && $r =~ /status="deleted"/;
        push @records, $r;
    }
}
die "oai-pages.pl: no <record> in the input\n" unless @records;
$total ||= scalar @records;

sub enc {
    my $s = shift;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

my $head = '<?xml version="1.0" encoding="UTF-8" ?>'
    . '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    . 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    . '<responseDate>2024-01-01T00:00:00Z</responseDate>'
    . '<request verb="ListRecords">http://example.org/oai</request>'
    . '<ListRecords>';
my $tail = '</ListRecords></OAI-PMH>';

my @out;
my $npages = int(($total + $per_page - 1) / $per_page);
my $base = 1704067200; # 2024-01-01T00:00:00Z
my $prev_token;
for my $p (0 .. $npages - 1) {
    my $body = $head;
    for my $i ($p * $per_page .. ($p + 1) * $per_page - 1) {
        last if $i >= $total;
        my $r = $records[$i % @records];
        my $copy = int($i / @records);
        if ($copy) {
            $r =~ s{(<identifier>)([^<]*)(</identifier>)}{$1$2.c$copy$3};
            my @t = gmtime($base + $i);
            my $stamp = sprintf('%04d-%02d-%02dT%02d:%02d:%02dZ',
                                $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0]);
            $r =~ s{<datestamp>[^<]*</datestamp>}{<datestamp>$stamp</datestamp>};
        }
        $body .= $r;
    }
    my $cursor = $p * $per_page;
    if ($p < $npages - 1) {
        my $token = sprintf('oai_dc/2024-01-01T00:00:00Z/+page %d/%d',
                            $p + 1, $per_page);
        $body .= qq{<resumptionToken completeListSize="$total" }
            . qq{cursor="$cursor">$token</resumptionToken>};
        push @out, exchange($p, $body);
        $prev_token = $token;
    } else {
        $body .= qq{<resumptionToken completeListSize="$total" }
            . qq{cursor="$cursor"/>} if $npages > 1;
        push @out, exchange($p, $body);
    }
}

sub exchange {
    my ($p, $body) = @_;
    my $q = $p == 0 ? "verb=ListRecords&$query"
                    : 'verb=ListRecords&resumptionToken=' . enc($prev_token);
    return {method => 'GET', path => "$path?$q", status => 200,
            headers => {'Content-Type' => 'text/xml'},
            body => $body . $tail};
}

print JSON::PP->new->utf8->canonical->encode(\@out), "\n";
